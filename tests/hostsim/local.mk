# tests/hostsim
