// What a Stratum session needs from the job dispatcher. The dispatcher implements it (or
// an adapter does; the signatures mirror dispatch/dispatcher.hpp); tests script it. The
// network difficulty comes from each job's bits, so it is not asked here. Every member is thread-safe and returns quickly
// (dispatch/work.hpp's threading contract).
#pragma once

#include <memory>
#include <system_error>

#include "dispatch/job.hpp"
#include "dispatch/work.hpp"
#include "sb/core/bytes.hpp"

namespace sb::bridge::stratum {

struct registration {
    consumer_id id = 0;
    bytes extranonce1;  // this consumer's slice of the nonce space (4 bytes for SHA-256d)
};

class work_source {
public:
    virtual ~work_source() = default;
    // Registers a consumer: allocates its extranonce1 and starts sending it jobs through
    // on_job (possibly before this returns; consumers post to their own strand). The
    // source keeps c alive until remove_consumer.
    virtual registration add_consumer(std::shared_ptr<work_consumer> c) = 0;
    // Stops sending jobs to id and frees its extranonce1. Unknown ids are ignored.
    virtual void remove_consumer(consumer_id id) = 0;
    // The payout script of id's coinbase (address-username mode; called once, at the
    // first successful authorize). current_job returns a job paying it from then on, and
    // on_job delivers only such jobs. Errors are the source's (the miner is refused).
    virtual std::error_code set_payout(consumer_id id, byte_span script_pubkey) = 0;
    // The newest job for id (null before the first template, or before set_payout in
    // address-username mode). Asked once, after authorize; on_job brings the rest.
    virtual std::shared_ptr<const job> current_job(consumer_id id) = 0;
    // Judges a share (the block check first; block submission happens elsewhere,
    // asynchronously); the verdict goes to the miner at once. share.version is the header
    // version, or the raw version_bits when they have bits outside version_mask (the
    // source rejects those as bad_version unless they equal the job's; BIP310).
    // share.difficulty is the difficulty the session had in force for that job.
    virtual share_result submit_share(consumer_id id, const share& s) = 0;
    // Judges a KAWPOW share (stratum.md §5; dispatcher::submit_kawpow_share). Takes
    // milliseconds: the server calls it off the I/O threads. A source without KAWPOW work
    // finds no job for any.
    virtual share_result submit_kawpow_share(consumer_id id, const kawpow_share& s) {
        (void)id;
        (void)s;
        share_result r;
        r.status = share_status::job_not_found;
        r.stratum_code = stratum_error_code(r.status);
        r.reason = stratum_error_message(r.status);
        return r;
    }
};

}  // namespace sb::bridge::stratum
