"""BiLO engine (torch only; never imports dolfinx)."""
