"""Prints the values of one scalar tag of a TensorBoard event file, read by TensorBoard's own loader.

Usage: read_tfevents.py EVENTS_FILE TAG. Exits 3 when the tensorboard package is not installed.
"""
import sys

try:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
except ImportError:
    sys.exit(3)

acc = EventAccumulator(sys.argv[1])
acc.Reload()
for event in acc.Scalars(sys.argv[2]):
    print(repr(event.value))
