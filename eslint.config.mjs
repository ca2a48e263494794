// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/*
 * The layers (docs/architecture.md): what each folder of src/ may import. Express stays at the
 * edge (http/, and the routes in auth/ and chat/); the money rules, the Perf client, the stores and
 * the infrastructure know nothing of it, and the Perf stand-in is wired by the composition root only.
 */
const WEB_FRAMEWORK = ['express', 'cors', 'helmet'].map((name) => ({
  name,
  message: 'Express stays at the edge: http/, and the routes in auth/ and chat/.',
}));
const folders = (...names) => ({
  regex: `(^|/)(${names.join('|')})(/|$)`,
  message: `This layer may not import ${names.join(', ')} (see docs/architecture.md).`,
});
const layer = (files, paths, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { paths, patterns }] },
});

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'coverage/', 'test-artifacts/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  layer(
    ['src/limits/**/*.ts'],
    [...WEB_FRAMEWORK, { name: 'express-session' }, { name: 'redis' }, { name: 'undici' }],
    [{ regex: '^\\.\\./', message: 'limits/ holds pure rules: it imports nothing of the rest of src/.' }],
  ),
  layer(
    ['src/infra/**/*.ts'],
    [...WEB_FRAMEWORK, { name: 'express-session' }],
    [folders('http', 'chat', 'auth', 'stores', 'limits', 'perf', 'dev')],
  ),
  layer(
    ['src/perf/**/*.ts'],
    [...WEB_FRAMEWORK, { name: 'express-session' }],
    [folders('http', 'chat', 'auth', 'stores', 'limits', 'dev')],
  ),
  layer(['src/stores/**/*.ts'], WEB_FRAMEWORK, [folders('http', 'chat', 'auth', 'perf', 'dev')]),
  layer(['src/http/**/*.ts'], [], [folders('chat', 'auth', 'stores', 'perf', 'dev')]),
  layer(['src/auth/**/*.ts'], [], [folders('chat', 'perf', 'dev')]),
  layer(['src/chat/**/*.ts'], [], [folders('stores', 'dev')]),
  layer(['src/config/**/*.ts'], WEB_FRAMEWORK, [folders('http', 'chat', 'stores', 'perf', 'infra', 'dev')]),
  layer(['src/app.ts', 'src/serve.ts', 'src/server.ts', 'src/cli/**/*.ts'], [], [folders('dev')]),
  {
    // Tests read untyped JSON answers (supertest's res.body is any) and assert on their shape.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { module: 'writable', require: 'readonly', process: 'readonly', console: 'readonly' } },
  },
  {
    // The chat page's script: a browser ES module, type-checked separately (tsconfig.public.json; kept out of public/ so it is not served).
    files: ['public/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
    rules: {
      'no-unused-vars': ['error', { args: 'after-used', caughtErrors: 'none' }],
      eqeqeq: 'error',
      'no-implicit-globals': 'error',
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Render text with textContent; never parse server or model text as HTML.' },
        { property: 'outerHTML', message: 'Render text with textContent; never parse server or model text as HTML.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='insertAdjacentHTML']",
          message: 'Never insert HTML; build nodes and set textContent.',
        },
        { selector: "CallExpression[callee.object.name='document'][callee.property.name='write']", message: 'No document.write.' },
      ],
    },
  },
);
