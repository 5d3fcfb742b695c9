"""The image explorer (no IPython): layers, files, wasted space, packages and diffs of images as DataFrames,
with dive 0.13.1's numbers, from the image's docker-archive streamed once and layer indexes cached by digest."""

from .explorer import CACHE, Explorer
from .layerindex import LayerCache

__all__ = ["CACHE", "Explorer", "LayerCache"]
