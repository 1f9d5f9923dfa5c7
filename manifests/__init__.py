"""slate's manifests: the film's locked source of truth (schema, asset keys, loading) and the
example film.

Everything else in slate imports this package; it imports nothing of ours but the error root
(slate.errors), and it never touches the network.
"""

if __name__ != "slate.manifests":   # the folder is slate/manifests (a symlink); imported bare, it would be a second copy
    raise ImportError(f"import slate.manifests, not {__name__}: manifests/ is slate's manifests package (slate/manifests)")

from .example import EXAMPLE_FILM_ID, draw_plate, example_documents, write_example_film
from .keys import (AssetKey, canonical_plate_key, canonical_turnaround_key, canonical_voice_key, check_key,
                   parse_canonical)
from .load import LoadedFilm, ManifestError, Problem, load_film, problems_from_validation, read_document
from .schema import (
    MAX_DISSOLVE_SECONDS,
    MAX_SHOT_SECONDS,
    MIN_SHOT_SECONDS,
    Bible,
    Camera,
    Character,
    Film,
    Location,
    Scene,
    Shot,
    Transition,
    Wardrobe,
)
from .turnaround import (
    CELL_H,
    CELL_W,
    EXAMPLE_CAST,
    HEAD_BAND,
    LEGS_BAND,
    TORSO_BAND,
    VIEWS,
    FigureSpec,
    draw_turnaround,
    draw_view,
)

__all__ = [
    "AssetKey",
    "Bible",
    "CELL_H",
    "CELL_W",
    "Camera",
    "Character",
    "EXAMPLE_CAST",
    "EXAMPLE_FILM_ID",
    "FigureSpec",
    "Film",
    "HEAD_BAND",
    "LEGS_BAND",
    "LoadedFilm",
    "Location",
    "MAX_DISSOLVE_SECONDS",
    "MAX_SHOT_SECONDS",
    "MIN_SHOT_SECONDS",
    "ManifestError",
    "Problem",
    "Scene",
    "Shot",
    "TORSO_BAND",
    "Transition",
    "VIEWS",
    "Wardrobe",
    "canonical_plate_key",
    "canonical_turnaround_key",
    "canonical_voice_key",
    "check_key",
    "draw_plate",
    "draw_turnaround",
    "draw_view",
    "example_documents",
    "load_film",
    "parse_canonical",
    "problems_from_validation",
    "read_document",
    "write_example_film",
]
