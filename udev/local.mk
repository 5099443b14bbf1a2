# udev
