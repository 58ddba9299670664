// Who may use what: the same rules as cases/access.py. The API enforces them; the pages
// only leave out what a role cannot use.

const roles = (...names) => (user) => Boolean(user) && names.includes(user.role);

export const can = {
  readEvidence: (user) => Boolean(user),
  play: roles("officer", "case_officer", "reviewer", "admin"),
  readCases: roles("case_officer", "reviewer", "auditor", "admin"),
  manageCases: roles("case_officer", "admin"),
  exportCases: roles("case_officer", "reviewer", "admin"),
  audit: roles("auditor", "admin"),
  // The whole log (its entries, proofs and verify report) is for auditors of every agency.
  readWholeLog: (user) => Boolean(user) && user.role === "auditor" && user.auditor_scope === "*",
  // The events of an item go with reading the item, those of a case with reading the case
  // (cases/audit.py); an entry's proof with reading the entry (the API refuses the others).
  readItemEvents: roles("officer", "case_officer", "reviewer", "auditor", "admin"),
  readCaseEvents: roles("case_officer", "reviewer", "auditor", "admin"),
  readProofs: roles("officer", "case_officer", "reviewer", "auditor", "admin"),
  // The checkpoint history and consistency (access.CHECKPOINT_HISTORY).
  readCheckpoints: roles("reviewer", "auditor"),
};
