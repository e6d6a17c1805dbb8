//! Independent readers as test oracles.
