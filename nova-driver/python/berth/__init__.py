# Copyright Berth contributors. Licensed under the Apache License, Version 2.0.
"""Berth: Nova virt driver forwarding to the Berth container-host agent.

Installed into nova/virt/berth/ (Nova only loads drivers from its own
package) and selected with ``compute_driver = berth.BerthDriver``.
"""
from nova.virt.berth import driver

BerthDriver = driver.BerthDriver
