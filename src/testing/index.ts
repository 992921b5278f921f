// rxjs-quiche/testing: helpers for users' own specs (a fake native connection, marble helpers
// for connection pipelines). Nothing is exported yet; the entry point exists so that the
// `exports` map and the ESM wrapper are exercised from the start.
export {};
