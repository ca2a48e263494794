// Types for dist-fresh.cjs, which stays plain CommonJS so `npm start` can run it without a compiler.
/** The repository's root folder. */
export declare const ROOT: string;
/** True when dist/server.js is newer than every file under src/ and the compiler's inputs. */
export declare function isDistFresh(root?: string): boolean;
/** Empties dist/, runs `tsc -p tsconfig.build.json` (output inherited); returns its exit status, marking dist/ stale on failure. */
export declare function compile(root?: string, tsc?: string): number;
/** Removes dist/ (outputs of moved modules would otherwise stay and be loaded). */
export declare function clean(root?: string): void;
/** Dates dist/server.js back so the next check compiles. */
export declare function markStale(root?: string): void;
