# tests/uio
