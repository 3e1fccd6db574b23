"""The service's image: built locally from app/ (tagged by source hash) or pulled by digest."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from infra.source import build_context
from infra.spec import Image


@dataclass
class AppImageArgs:
    prefix: str
    image: Image


class AppImage(pulumi.ComponentResource):
    ref: pulumi.Output[str]  # what containers run: a local image id or the pinned digest

    def __init__(self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("berth:docker:Image", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.image.build is not None:
            source = build_context(args.image.build)
            tag = source["tag"]
            built = docker.Image(
                "app",
                image_name=f"{args.prefix}-app:{tag}",
                build=docker.DockerBuildArgs(
                    context=source["context"],
                    dockerfile=source["dockerfile"],
                    platform="linux/amd64",
                    args={"APP_VERSION": tag, "GIT_SHA": tag},
                ),
                skip_push=True,  # local engine only; no registry in the local stack
                opts=child,
            )
            self.ref = built.image_name
        else:
            pulled = docker.RemoteImage("app", name=args.image.ref, keep_locally=True, opts=child)
            self.ref = pulled.image_id
        self.register_outputs({"ref": self.ref})
