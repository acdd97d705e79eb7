// The channel settings every affsig client of the server shares — the command-line client and
// the workers: a server that restarts is found again within seconds (gRPC's default reconnect
// backoff grows to two minutes), long calls keep their connection alive with pings the server
// allows, and a whole signature fits in one message.
#ifndef AFFSIG_PROTO_CHANNEL_ARGUMENTS_H_
#define AFFSIG_PROTO_CHANNEL_ARGUMENTS_H_

#include <grpcpp/support/channel_arguments.h>

namespace affsig {

// The largest message either side sends: a signature of hundreds of thousands of entries.
inline constexpr int kMaxMessageBytes = 256 << 20;

grpc::ChannelArguments ServerChannelArguments();

}  // namespace affsig

#endif  // AFFSIG_PROTO_CHANNEL_ARGUMENTS_H_
