"""Tests of EV Sessions."""
