"""The upload-paint mask: this package owns the way from the canvas component's drawn objects
(shapes.py one object at a time, paths.py every freedraw path at once) to the painted region
(painting.py: strokes buffered and unioned in array calls, erasers in drawing order) to polygons
in source-image pixels (geometry.py) cut into the request's hole-free `mask.areas` (pieces.py)
or a mask PNG (raster.py), together with where the image sits on a larger canvas (placement.py)
and whether the source image must be resized to the provider's accepted size (sizing.py). It
imports only shapely, numpy and Pillow, and nothing else of mjstudio."""
