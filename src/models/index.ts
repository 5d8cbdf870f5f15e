/** src/models: filled in by its issue; see the README. */
export {};
