// Who may use what: the same rules as cases/access.py. The API enforces them; the pages
// only leave out what a role cannot use.

const roles = (...names) => (user) => Boolean(user) && names.includes(user.role);

export const can = {
  // A station clerk runs the station screen and sees no footage.
  readEvidence: (user) => Boolean(user) && user.role !== "clerk",
  play: roles("officer", "case_officer", "reviewer", "admin"),
  readCases: roles("case_officer", "reviewer", "auditor", "admin"),
  manageCases: roles("case_officer", "admin"),
  exportCases: roles("case_officer", "reviewer", "admin"),
  // Originals leave the system: case officers (of footage on a case they manage), reviewers
  // and admins (of footage they can read); each item's status.original_download says which.
  downloadOriginal: roles("case_officer", "reviewer", "admin"),
  audit: roles("auditor", "admin"),
  // The station screen (cases/access.py STATION_SCREEN): clerks their unit's stations,
  // admins and auditors their agency's (scope's), officers the docks of their own recorders.
  stationScreen: roles("clerk", "officer", "auditor", "admin"),
  // The whole log (its entries, proofs and verify report) is for auditors of every agency.
  // Users, units and recorders (cases/users.py, organisation.py, devices.py): admins, each
  // within their own agency (the API refuses the rest).
  administer: roles("admin"),
  // The legal review (cases/legal_review.py): reviewers give opinions from their queue; an
  // admin of the agency is its approving head and principal (approvals, rulings).
  reviewQueue: roles("reviewer"),
  approve: roles("admin"),
  // Legal holds: listing and releasing them (access.LEGAL_HOLD).
  holds: roles("admin"),
  // The annual statistics (cases/annual_report.py): admins their agency's, auditors their scope's.
  annualReport: roles("auditor", "admin"),
  readWholeLog: (user) => Boolean(user) && user.role === "auditor" && user.auditor_scope === "*",
  // The events of an item go with reading the item, those of a case with reading the case
  // (cases/audit.py); an entry's proof with reading the entry (the API refuses the others).
  readItemEvents: roles("officer", "case_officer", "reviewer", "auditor", "admin"),
  readCaseEvents: roles("case_officer", "reviewer", "auditor", "admin"),
  readProofs: roles("officer", "case_officer", "reviewer", "auditor", "admin"),
  // The checkpoint history and consistency (access.CHECKPOINT_HISTORY).
  readCheckpoints: roles("reviewer", "auditor"),
};
