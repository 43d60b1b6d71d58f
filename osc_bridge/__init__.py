"""musegenie OSC bridge: Max/MSP and Ableton (Max for Live) talk OSC; this forwards to the gRPC engine."""
