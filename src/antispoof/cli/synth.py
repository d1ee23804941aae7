"""``antispoof synth``: generate the synthetic dataset (or simulate attacks on your own photos)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("synth")(synth_command)


def synth_command(
    out: Path = typer.Option(None, "--out", help="Output folder (new or empty, or a previous synthetic folder). Required."),
    subjects: int = typer.Option(None, "--subjects", min=2, help="Number of procedural subjects (split 60/20/20 by subject; "
                                                                  "default 40, or 10 with --layout)."),
    layout: str = typer.Option(None, "--layout", help="Write a simulated copy of a dataset's official tree (its files, "
                                                       "protocols and annotations) instead of the manifest folder: "
                                                       "oulu-npu, replay-attack, casia-fasd, msu-mfsd, siw, casia-surf, "
                                                       "celeba-spoof (see --list-layouts)."),
    list_layouts_flag: bool = typer.Option(False, "--list-layouts", help="List the simulated dataset layouts and exit."),
    frames: int = typer.Option(8, "--frames", min=1, help="Frames per clip (the sequence method uses 11)."),
    size: int = typer.Option(128, "--size", min=16, max=1024, help="Image side in pixels."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the folder is identical for a seed whatever --workers is."),
    modalities: str = typer.Option("rgb", "--modalities", help="Comma-separated: rgb plus any of ir, depth."),
    species: str = typer.Option(None, "--species", help="Attack species or wildcards, comma-separated (default: all). See --list-species."),
    difficulty: float = typer.Option(0.5, "--difficulty", min=0.0, max=1.0, help="0 = obvious attack cues, 1 = faint ones."),
    preview: Path = typer.Option(None, "--preview", help="Also write a labelled contact sheet (PNG) here."),
    from_photos: Path = typer.Option(None, "--from-photos", help="Folder of your bona fide face photos: simulate print and replay attacks on them."),
    attacks_per_photo: int = typer.Option(3, "--attacks-per-photo", min=1, help="With --from-photos: attack clips per photo."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    image_format: str = typer.Option("jpg", "--format", help="RGB frame format: jpg (at each camera domain's quality) or png."),
    list_species_flag: bool = typer.Option(False, "--list-species", help="List attack species and exit."),
) -> None:
    """Generate bona fide and attack clips with every label (manifest.csv + synth.json + images)."""
    from rich.console import Console

    from antispoof.data.synthetic import SPECIES, contact_sheet, generate_dataset, generate_from_photos, list_species

    console = Console()
    if list_species_flag:
        for name in list_species():
            sp = SPECIES[name]
            extra = f" (CASIA-SURF type {sp.surf_type})" if sp.surf_type else ""
            console.print(f"{name}: {sp.family}, {sp.surface}{extra}")
        return
    if list_layouts_flag:
        from antispoof.data.synthetic.layouts import list_layouts

        for name in list_layouts():
            console.print(name)
        return
    if out is None:
        raise ValueError("--out is required: the folder to write, e.g. antispoof synth --out data/synth")
    if layout is not None:
        from antispoof.data.synthetic.layouts import LayoutSettings, generate_layout

        settings = LayoutSettings(subjects=subjects or 10, seed=seed, frames=frames, size=size, difficulty=difficulty)
        root = generate_layout(layout, out, settings)
        console.print(f"simulated {layout} tree: {root} (read it with --dataset {layout} --root {root})")
        return
    mods = tuple(m.strip() for m in modalities.split(",") if m.strip())
    common = dict(frames=frames, size=size, seed=seed, modalities=mods, species=species, difficulty=difficulty, workers=workers, image_format=image_format, show_progress=True)
    if from_photos is not None:
        manifest = generate_from_photos(from_photos, out, attacks_per_photo=attacks_per_photo, **common)
    else:
        manifest = generate_dataset(out, subjects=subjects or 40, **common)
    console.print(f"manifest: {manifest}")
    if preview is not None:
        console.print(f"preview: {contact_sheet(manifest, preview)}")
