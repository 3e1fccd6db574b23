"""Docker's rules for the names berth gives containers, networks and volumes: one engine holds each once."""

from infra.engine import NameRule

DOCKER_NAME = r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"

PHYSICAL_NAMES = {
    "docker:index/container:Container": NameRule("name", 255, DOCKER_NAME, "Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
    "docker:index/network:Network": NameRule("name", 255, DOCKER_NAME, "Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
    "docker:index/volume:Volume": NameRule("name", 255, DOCKER_NAME, "Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
}
