"""Python ports of TI's example programs, installed as console scripts."""
