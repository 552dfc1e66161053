#pragma once
// OutputGate: the one way bytes go out on a connection (RFC 4975 §7.1: no frame ever lands
// inside another). A frame's bytes may come in several writes (a body relayed as it arrives);
// while one frame is mid-write (its owner), writes of other frames are held, in arrival order,
// and go out when it ends. The gate asks the owner's source to make way (end its chunk early)
// as soon as something waits behind it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace msrpd::relay {

// Which frame a write belongs to: the source connection and its relayed-frame number. src == 0:
// a whole frame written at once (a reply, a REPORT).
struct FrameKey {
  uint64_t src = 0;
  uint64_t seq = 0;
  bool operator==(const FrameKey&) const = default;
  bool none() const { return src == 0; }
};

// What the gate writes to and whom it tells (the Link of the destination connection).
class GateSink {
 public:
  virtual ~GateSink() = default;
  virtual bool open() const = 0;
  virtual bool write(std::string_view bytes) = 0;  // false: the connection cannot take bytes
  virtual void close_after_flush() = 0;            // send flag 2
  // Frames wait behind `owner`'s streamed frame: its source should end the chunk soon. It may
  // do so inside this call (a source on the same worker), writing to the gate again.
  virtual void make_way(FrameKey owner) = 0;
  // Held bytes went out: sources waiting for room may go on.
  virtual void released() = 0;
  // The held frame `key` (not none) was written to its end: its transaction's timeout starts
  // (RFC 4975 §7.1.1: 30 s from the last byte sent).
  virtual void ended(FrameKey key) = 0;
};

class OutputGate {
 public:
  explicit OutputGate(GateSink& sink) : sink_(sink) {}
  OutputGate(const OutputGate&) = delete;
  OutputGate& operator=(const OutputGate&) = delete;

  // Writes (or holds) bytes of frame `key`; `ends`: they end the frame. close_after with ends:
  // the connection closes once they are written. False when the connection is gone.
  bool output(FrameKey key, std::string_view bytes, bool ends, bool close_after = false);
  // A whole frame (a reply, a REPORT).
  bool send(std::string_view bytes, bool close_after = false) {
    return output(FrameKey{}, bytes, true, close_after);
  }
  FrameKey owner() const { return owner_; }
  size_t held_bytes() const { return held_bytes_; }
  size_t held_frames() const { return held_.size(); }
  // Bytes of frame `key` wait here (the frame has not been written to its end).
  bool holds(FrameKey key) const;
  // The connection is gone: what was held is dropped.
  void clear();

 private:
  struct Held {
    FrameKey key;
    std::string bytes;
    bool ends = false;
    bool close_after = false;
    bool done = false;
  };
  void release();
  void ask_owner_to_make_way();

  GateSink& sink_;
  FrameKey owner_;      // the frame mid-write (none: the gate is free)
  FrameKey way_asked_;  // the owner already asked to make way
  std::vector<Held> held_;
  size_t held_bytes_ = 0;
};

}  // namespace msrpd::relay
