"""The upload-paint mask: this package owns the way from the canvas component's drawn objects
(shapes.py) to polygons in source-image pixels (geometry.py) to the request's `mask.areas` or a
mask PNG (raster.py), together with where the image sits on a larger canvas (placement.py) and
whether the source image must be resized to the provider's accepted size (sizing.py). It
imports only shapely, numpy and Pillow, and nothing else of mjstudio."""
