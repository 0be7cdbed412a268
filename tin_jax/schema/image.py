"""The network's input convention (TIN's, from tf-faster-rcnn): BGR, 0..255, minus these means."""

PIXEL_MEANS_BGR = (102.9801, 115.9465, 122.7717)  # cfg.PIXEL_MEANS
