"""``antispoof export``: write a bundle's ONNX graph (optionally int8), checked against PyTorch on real crops."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)


def export_command(
    run: Path = typer.Argument(..., help="A calibrated run folder (its bundle/) or a bundle folder."),
    format: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
    quantize: str = typer.Option(None, "--quantize", help="Also write an int8 graph: int8."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset (17 runs on onnxruntime >= 1.14)."),
    max_crops: int = typer.Option(64, "--max-crops", help="Real dev crops used for the parity check and int8 calibration."),
    store: Path = typer.Option(None, "--store", help="Frame store of the calibration split (default: the one the run's calibration.json names)."),
    images: list[Path] = typer.Option(None, "--images", help="Photos (or folders) whose faces are the parity inputs, for a bundle with no calibration store (an imported one)."),
) -> None:
    """Export to ONNX with a dynamic batch; refuse when fp32 scores differ from PyTorch by more than 1e-4."""
    if format != "onnx":
        raise ValueError(f"unknown export format {format!r}; the one format is onnx")
    from antispoof.inference.export import export_onnx, open_bundle

    from antispoof.cli.predict import expand_paths

    photos = expand_paths(list(images)) if images else None
    record = export_onnx(run, quantize=quantize, opset=opset, max_crops=max_crops, store=store, images=photos)
    bundle = open_bundle(run)
    fp32 = record["fp32"]
    typer.echo(f"onnx (opset {record['opset']}): {bundle.onnx_path('fp32')}; max |score - torch| = {fp32['max_abs_score_diff']:.3g} "
               f"over {record['parity_crops']} real crops ({record['parity_crops_from']}; tolerance {fp32['tolerance']:g})")
    if "int8" in record:
        int8 = record["int8"]
        typer.echo(f"int8: {bundle.onnx_path('int8')}; max |score - torch| = {int8['max_abs_score_diff']:.3g}, "
                   f"mean {int8['mean_abs_score_diff']:.3g}")
        dev = int8.get("dev_metrics")
        if dev:
            change = ", ".join(f"{k.upper()} {100 * dev['fp32_torch'][k]:.2f}% -> {100 * dev['int8'][k]:.2f}%"
                               for k in ("apcer", "bpcer", "acer"))
            typer.echo(f"int8 on the dev split at threshold {dev['at_threshold']:.6g}: {change}; "
                       f"AUC {dev['fp32_torch']['auc']:.4f} -> {dev['int8']['auc']:.4f}")
