import type { RequestHandler } from 'express';
import { openAiErrorBody } from './error-shape';

/**
 * Marks a request as the OpenAI-compatible face's, before anything can refuse it: every error it
 * gets from then on (CSRF, session, validation, limits, Perf) is written in OpenAI's shape.
 */
export const openAiFace: RequestHandler = function openAiFace(_req, res, next) {
  res.locals.errorShape = openAiErrorBody;
  next();
};
