"""The image the pods run: built from app/, tagged with the source hash, pushed to the registry in
config and run by digest; or a prebuilt image pinned by digest, run as given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from infra.config import ROOT
from infra.source import source_hash
from infra.spec import Image


@dataclass
class ImageArgs:
    prefix: str
    image: Image
    registry: Optional[str]  # required with image.build (check() says so)


class AppImage(pulumi.ComponentResource):
    ref: pulumi.Output[str]  # always `…@sha256:…`

    def __init__(self, name: str, args: ImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:kubernetes:Image", name, None, opts)
        if args.image.build is not None:
            context = ROOT / args.image.build
            tag = source_hash(context)
            # Pushed with the credentials of this machine's Docker (`docker login <registry>`).
            built = docker.Image(
                "app", image_name=f"{args.registry}/{args.prefix}:{tag}",
                build=docker.DockerBuildArgs(context=str(context), dockerfile=str(context / "Dockerfile"),
                                             platform="linux/amd64", args={"APP_VERSION": tag, "GIT_SHA": tag}),
                opts=pulumi.ResourceOptions(parent=self))
            self.ref = built.repo_digest
        else:
            self.ref = pulumi.Output.from_input(args.image.ref)
        self.register_outputs({"ref": self.ref})
