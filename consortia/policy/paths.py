"""The channel policies Fabric's nodes consult, by path (each is defined in every
channel's configuration; see consortia.channelconfig)."""

# Who may read the channel's blocks from an orderer, and send it transactions.
CHANNEL_READERS = "/Channel/Readers"
CHANNEL_WRITERS = "/Channel/Writers"
# Who may read from and propose to the channel's peers.
APPLICATION_READERS = "/Channel/Application/Readers"
APPLICATION_WRITERS = "/Channel/Application/Writers"
# The default endorsement policy of a chaincode.
APPLICATION_ENDORSEMENT = "/Channel/Application/Endorsement"
# Whose signatures a block needs.
BLOCK_VALIDATION = "/Channel/Orderer/BlockValidation"
# Who must agree to a chaincode definition before it is committed (_lifecycle).
LIFECYCLE_ENDORSEMENT = "/Channel/Application/LifecycleEndorsement"
