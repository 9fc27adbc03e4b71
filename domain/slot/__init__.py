"""Crystal Forge, the slot of seed 001: its definition, evaluation, and the free-spins round rules."""
