"""OSM PBF extracts turned into the OSM XML that ``osmnx.graph_from_xml`` reads.

osmnx reads only OSM XML; PBF (the format Geofabrik and most extract tools
publish) is converted here with pyosmium (the ``osmium`` package, libosmium
bindings), locally and without any network access:

* only ways with a ``highway`` tag are kept, with the nodes they use (the
  drivable filter proper is :func:`geo.roads.load_drive_graph`'s);
* ways that point to nodes absent from the file (clipped at the extract's
  bounding box) are dropped and counted, since osmnx refuses such files;
* relations (turn restrictions included) are left out.

The XML written is an intermediate file: :func:`geo.roads.load_drive_graph`
writes it to a temporary directory and removes it after parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import Problem, RoadNetworkError

__all__ = ["PbfConversion", "pbf_to_osm_xml"]


@dataclass(frozen=True, slots=True)
class PbfConversion:
    """What :func:`pbf_to_osm_xml` wrote.

    Attributes
    ----------
    path
        The OSM XML file written.
    ways
        Highway ways written.
    nodes
        Nodes written (those the kept ways use).
    clipped_ways
        Highway ways dropped because they point to nodes missing from the file.
    """

    path: Path
    ways: int
    nodes: int
    clipped_ways: int


def pbf_to_osm_xml(pbf_path: Path, out_path: Path) -> PbfConversion:
    """Convert the highway ways of a PBF extract to OSM XML.

    Parameters
    ----------
    pbf_path
        ``.osm.pbf`` file.
    out_path
        Where to write the ``.osm`` XML (overwritten if present).

    Returns
    -------
    PbfConversion
        Counts of what was written and dropped.

    Raises
    ------
    RoadNetworkError
        If the file cannot be read as PBF or holds no complete highway way.
    """
    import osmium

    pbf_path, out_path = Path(pbf_path), Path(out_path)
    try:
        present: set[int] = {n.id for n in osmium.FileProcessor(str(pbf_path), osmium.osm.NODE)}
        keep_ways: set[int] = set()
        needed: set[int] = set()
        clipped = 0
        for w in osmium.FileProcessor(str(pbf_path), osmium.osm.WAY):
            if "highway" not in w.tags:
                continue
            refs = [r.ref for r in w.nodes]
            if len(refs) < 2:
                continue
            if all(r in present for r in refs):
                keep_ways.add(w.id)
                needed.update(refs)
            else:
                clipped += 1
        del present
        if not keep_ways:
            raise RoadNetworkError(
                "no complete highway ways in the PBF file",
                problems=[
                    Problem(
                        "no highway way with all its nodes", file=str(pbf_path), field="osm_file"
                    )
                ],
            )
        written_nodes = 0
        with osmium.SimpleWriter(str(out_path), overwrite=True) as writer:
            for obj in osmium.FileProcessor(str(pbf_path), osmium.osm.NODE | osmium.osm.WAY):
                if obj.is_node():
                    if obj.id in needed:
                        writer.add_node(obj)
                        written_nodes += 1
                elif obj.id in keep_ways:
                    writer.add_way(obj)
    except RoadNetworkError:
        raise
    except Exception as exc:
        raise RoadNetworkError(
            "cannot read PBF road network",
            problems=[
                Problem(f"{type(exc).__name__}: {exc}", file=str(pbf_path), field="osm_file")
            ],
        ) from None
    return PbfConversion(out_path, len(keep_ways), written_nodes, clipped)
