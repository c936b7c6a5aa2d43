"""Department simulators for the demo: seeded, realistic event streams for every topic."""

from producers.simulators.events import GENERATORS, generate
from producers.simulators.mix import WEIGHTS, TopicMix
from producers.simulators.runner import SimulationStats, plan, run_simulation

__all__ = [
    "GENERATORS",
    "WEIGHTS",
    "SimulationStats",
    "TopicMix",
    "generate",
    "plan",
    "run_simulation",
]
