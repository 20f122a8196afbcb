"""plugin_pb2.py is committed; it must be what protoc makes of proto/plugin.proto today."""

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from makai_plugin import plugin_pb2


def test_the_committed_generated_code_matches_the_proto(repo, tmp_path):
    out = tmp_path / "plugin.desc"
    proto_dir = repo / "proto"
    assert protoc.main(["protoc", f"-I{proto_dir}", f"--descriptor_set_out={out}", str(proto_dir / "plugin.proto")]) == 0
    fresh = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    # protoc adds json_name to a descriptor set; the generated module's embedded copy leaves it out.
    for message in _messages(fresh.message_type):
        for field in message.field:
            field.ClearField("json_name")
    committed = descriptor_pb2.FileDescriptorProto.FromString(plugin_pb2.DESCRIPTOR.serialized_pb)
    assert committed == fresh, "regenerate: python -m grpc_tools.protoc -Iproto --python_out=sdk/python/src/makai_plugin proto/plugin.proto"


def _messages(messages):
    for message in messages:
        yield message
        yield from _messages(message.nested_type)
