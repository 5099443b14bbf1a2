# daemons
