"""The seven marks that ``spacing()`` wraps in spaces (docs/semantics.md section 1): one
definition, read by ``match.spacing`` and by ``metadata.info`` (which explains entries that can
never match) without either package importing the other."""

WRAPPED = (",", ".", ";", ":", "?", "!", "`")
