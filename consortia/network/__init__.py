"""Launching and supervising a whole network on one machine (`consortia network ...`)."""
