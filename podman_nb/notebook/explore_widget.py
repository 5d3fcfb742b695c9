"""%image_explore's ipywidgets explorer, as dive's TUI is in a terminal: the layers (step, size) to pick from, the
picked layer's file tree (its changes, or everything up to it) with its marks and sizes, sortable, a filter box, and
the layer's advice. Only the tree and the advice are redrawn as you move, so the filter keeps its text and focus.
Its display bundle carries the static summary too (notebook/explore_view.py), which a saved notebook shows where the
widget cannot be (nbconvert, GitHub), as the progress displays leave their summary behind."""

from __future__ import annotations

from typing import Any, Dict

from .explore_view import ExploreModel, advice_html, tree_html
from .progress_display import literal
from .progress_widgets import _close_tree
from .units import human_size

SCOPES = [("this layer's changes", False), ("everything up to it", True)]
ORDERS = [("largest first", "size"), ("by name", "name")]


class ExploreWidget:
    """The explorer of one image. ``layer_list``, ``scope``, ``order`` and ``filter`` are the controls; ``tree``
    and ``advice`` what they show."""

    def __init__(self, model: ExploreModel):
        import ipywidgets as w

        self.model = model
        labels = [f"{step}  ({human_size(size)})" for step, size in zip(model.steps, model.layers["size"])]
        self.layer_list = w.Select(options=[(label, index) for index, label in enumerate(labels)],
                                   value=len(labels) - 1, rows=min(max(len(labels), 2), 10),
                                   layout=w.Layout(width="calc(100% - 8px)"))
        buttons = {"button_width": "auto"}
        self.scope = w.ToggleButtons(options=SCOPES, value=False, style=buttons)
        self.order = w.ToggleButtons(options=ORDERS, value="size", style=buttons)
        self.filter = w.Text(placeholder="filter: part of a path", continuous_update=True,
                             layout=w.Layout(width="24em"))
        self.tree = w.HTML()
        self.advice = w.HTML()
        self.widget = w.VBox([
            w.HTML(f"<b>{literal(model.headline())}</b>"), self.layer_list,
            w.HBox([self.scope, self.order, self.filter], layout=w.Layout(flex_flow="row wrap")),
            self.tree, w.HTML("<b>Advice for this layer</b>"), self.advice])
        self.widget.add_class("podman-nb-explore")
        for control in (self.layer_list, self.scope, self.order, self.filter):
            control.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, _change: Any = None) -> None:
        layer = self.layer_list.value
        self.tree.value = tree_html(self.model.tree(layer, self.scope.value, self.filter.value, self.order.value))
        self.advice.value = advice_html(self.model.advice_rows(layer))

    def close(self) -> None:
        _close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Dict[str, Any]:
        """The widget's view, and the static summary for where no widget can be shown."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = self.model.text()
        bundle["text/html"] = self.model.html()
        return bundle

    def __repr__(self) -> str:
        return self.model.text()

