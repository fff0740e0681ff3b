"""Pure model of EV Sessions: no Home Assistant imports below this package."""
