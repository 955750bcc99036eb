/** Largest single read (Node rejects lengths of 2 GiB and more): longer reads go in pieces. */
export const MAX_READ = 1 << 30;
