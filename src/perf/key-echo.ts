/** What an echoed key is replaced with, wherever it would have gone. */
export const REDACTED = '[redacted]';

/**
 * Perf should never send our key back, but a bug or a hostile upstream could: in an answer's
 * text, an error code, a model name. Everything we relay or log that came from Perf passes
 * through here first. The key is fixed, so this is a substring search; the relays hand over whole
 * events and whole bodies, so a key split across network chunks is found all the same.
 */
export class KeyEcho {
  private readonly bytes: Buffer;

  constructor(
    private readonly key: string,
    /** Called once per answer (or log field) the key was found in. */
    private readonly onEcho?: (where: string) => void,
  ) {
    if (key.length < 8) throw new TypeError('the key is too short to search for');
    this.bytes = Buffer.from(key, 'utf8');
  }

  /** The text with the key replaced; `where` says what it was, for the warning. */
  text(value: string, where: string): string {
    if (!value.includes(this.key)) return value;
    this.onEcho?.(where);
    return value.split(this.key).join(REDACTED);
  }

  /** The same for raw bytes (a JSON answer relayed as it came). */
  buffer(value: Buffer, where: string): Buffer {
    if (value.indexOf(this.bytes) === -1) return value;
    this.onEcho?.(where);
    return Buffer.from(value.toString('utf8').split(this.key).join(REDACTED), 'utf8');
  }
}
