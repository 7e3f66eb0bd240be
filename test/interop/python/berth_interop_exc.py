"""Exceptions the interop tests rebuild across the wire.

The Python peer lists this module in ``allowed_remote_exmods``, so a failure
serialized by the TypeScript server as ``{"class": "DemoNotFound", "module":
"berth_interop_exc", ...}`` comes back here as a real ``DemoNotFound`` (well,
oslo's ``DemoNotFound_Remote`` subclass of it). Shaped like NovaException:
a message format filled from kwargs, and ``self.kwargs`` kept for the wire.
"""


class DemoNotFound(Exception):
    msg_fmt = "Demo %(name)s could not be found."
    code = 404

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        self.kwargs.setdefault('code', self.code)
        if not message:
            message = self.msg_fmt % kwargs
        super().__init__(message)
