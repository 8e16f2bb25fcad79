from django import forms


class CriteriaBuilderWidget(forms.Textarea):
    """Placeholder until the visual builder lands: a JSON textarea."""

    def __init__(self, attrs: dict | None = None, *, site_field: str = "site") -> None:
        super().__init__(attrs={"rows": 16, "cols": 100, **(attrs or {})})
        self.site_field = site_field
