/** Another process already holds the data directory. (Its own module: the CLI checks for it without loading PGlite.) */
export class DataDirLockedError extends Error {}
