"""A new dataset from a file: which standard schema a CSV/XLSX fits, how its columns map,
where its geometry is, and a drafted ``dataset.toml`` (``hub datasets new FILE`` and the staff
console's upload).

The proposal is a rule over header spellings, the same spellings publishing reads
(:func:`etl.normalise.match_headers`), loosened by the search folding of :mod:`hub.textfold`
for headers publishing would not match on its own; whatever the loose rules find is written
into the draft's ``[columns]``, so the draft publishes exactly the mapping that was proposed.
"""

from etl.proposal.propose import Candidate, Proposal, ProposalError, propose

__all__ = ["Candidate", "Proposal", "ProposalError", "propose"]
