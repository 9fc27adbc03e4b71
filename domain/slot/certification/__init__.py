"""The maths report of a slot (``spinledger rtp``): exact figures from the reel strips, and Monte Carlo."""
