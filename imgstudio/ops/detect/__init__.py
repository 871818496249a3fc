"""Detection: classic detectors (HOG people, Haar cascades, barcodes, shapes, tracking) and
trained ones (YOLO, Faster R-CNN, text, pose). Heavy libraries are imported inside the ops."""
