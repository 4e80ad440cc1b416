"""Credit information served off chain (授权查证): the firm's credit profile from the index and
the regulator's table, readable only behind an authorised query recorded on chain."""
