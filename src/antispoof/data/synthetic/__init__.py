"""The synthetic attack generator: the toolkit's embedded default dataset.

Renders procedural bona fide faces and presentation attacks (flat and bent prints, the
cut-out prints of CASIA-SURF's types 1-6, replays on phones, tablets and monitors, rigid
masks) as clips of T frames in RGB, IR and Depth, with every label the methods need:
bona fide / attack, species, the visible-cue attributes of seed 000, capture domain,
subject, session, video and frame, face boxes, and subject-disjoint splits. Bona fide and
attack frames share their global brightness, colour, contrast and sharpness
distributions, so only local, physical cues separate them; ``difficulty`` scales how
visible those cues are.

Output is a folder in the generic manifest format (``manifest.csv`` + images, see
:mod:`antispoof.data.base`) plus ``synth.json`` recording the settings::

    from antispoof.data.synthetic import generate_dataset
    manifest = generate_dataset("data/synth", subjects=24, frames=4, size=64, seed=0)
"""

from antispoof.data.synthetic.camera import DOMAINS, domain_names
from antispoof.data.synthetic.from_photos import generate_from_photos
from antispoof.data.synthetic.preview import contact_sheet
from antispoof.data.synthetic.species import ATTACK_SPECIES, SPECIES, VISIBLE_CUES, Species, list_species, resolve_species
from antispoof.data.synthetic.writer import GeneratorSettings, generate_dataset

__all__ = [
    "generate_dataset",
    "generate_from_photos",
    "contact_sheet",
    "GeneratorSettings",
    "SPECIES",
    "ATTACK_SPECIES",
    "VISIBLE_CUES",
    "Species",
    "list_species",
    "resolve_species",
    "DOMAINS",
    "domain_names",
]
