"""Channel configuration: build it from a network definition, and read it back.

`build` turns the network file and the crypto material into the
`consortia.v1.ChannelConfig` that a channel's genesis block carries; `bundle` turns a
ChannelConfig (from a block) into what nodes use: the channel's MSPs and policies.
"""
