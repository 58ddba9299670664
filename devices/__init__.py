"""Recorder adapters: mass storage, MTP, GA/T 947.4 vendor SDK, simulated.

Every adapter implements ``devices.base.Recorder`` and raises only
``domain.errors.DeviceError`` subclasses (``devices.errors``). devices/ imports
nothing of the project but ``domain/`` and ``media/`` (GA/T 947 file names).

* ``devices.mass_storage``: a mounted volume; mount-root polling (``poll_volumes``,
  ``PollingWatcher``), registry or file-name identity, link-safe reads and deletes.
* ``devices.udev``: labels, UUIDs and USB serials of mounted volumes, where udev is.
* ``devices.mtp`` (with ``devices.libmtp``): MTP devices through libmtp9 (ctypes).
* ``devices.gat947``: GA/T 947.4 vendor SDKs (ctypes) and the SDK docking flow.
* ``devices.simulated``: a recorder folder that docks, undocks and is yanked.
"""
