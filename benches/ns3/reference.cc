// The reference workload of issue 15 (benches/reference-by-name.ron), written for ns-3.
//
// benches/ns3/compare.sh builds this file against Debian's libns3-dev (ns-3 3.37) and runs it
// beside `netlab run` on the same machine, so that anyone can rerun the comparison that
// BENCHMARKS.md quotes. It is not part of netlab: it exists to be measured.
//
// The workload, as in the netlab scenario:
// - 10 clients, a router, 4 web servers; 1 Gbps everywhere, 1 ms one way on the clients'
//   side and 0.1 ms on the servers' side;
// - four client groups (3, 3, 2 and 2 clients), each asking one server, each a Poisson
//   process of 250 requests per second (1,000 in all), each request taken by the group's
//   clients in turn;
// - a fresh TCP connection per request, a 200-byte request, a 10 KiB response, zero service
//   time, the server closing first; a request not answered within 5 s fails.
//
// Where it differs from netlab, by necessity:
// - ns-3 has no switch at layer 2 with a delay, so each host has its own point-to-point link
//   to the router with the segment's bandwidth and delay (netlab's segments are switches
//   whose ports have that delay: the same path length, one hop fewer).
// - TIME-WAIT: ns-3 keeps a closed socket for 2 × MaxSegLifetime (240 s by default) and
//   looks endpoints up in a list, so at 1,000 connections per second stock ns-3 slows down as
//   the list grows and does not finish 100,000 requests in reasonable time. `--msl=S` sets
//   MaxSegLifetime; the script passes 5 (TIME-WAIT 10 s, netlab's: smoltcp's fixed
//   CLOSE_DELAY), or 0 (no TIME-WAIT at all, which favours ns-3) with NS3_MSL=0.
//
// Usage: reference [--requests=N] [--msl=SECONDS] [--seed=S]
// Prints one line: requests, ok, failed, mean latency in ms.

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"

#include <cstdio>
#include <map>
#include <vector>

using namespace ns3;

namespace
{

constexpr uint32_t kRequestBytes = 200;
constexpr uint32_t kResponseBytes = 10 * 1024;
constexpr uint16_t kPort = 80;
const Time kTimeout = Seconds(5);

// What the run counts.
struct Totals
{
    uint64_t ok = 0;
    uint64_t failed = 0;
    double latencySumMs = 0;
};

Totals g_totals;

// A web server: reads the 200-byte request, writes the 10 KiB response, closes first.
class WebServer : public Application
{
  public:
    void StartApplication() override
    {
        m_listen = Socket::CreateSocket(GetNode(), TcpSocketFactory::GetTypeId());
        m_listen->Bind(InetSocketAddress(Ipv4Address::GetAny(), kPort));
        m_listen->Listen();
        m_listen->SetAcceptCallback(MakeNullCallback<bool, Ptr<Socket>, const Address&>(),
                                    MakeCallback(&WebServer::Accepted, this));
    }

    void StopApplication() override
    {
        m_listen->Close();
    }

  private:
    void Accepted(Ptr<Socket> socket, const Address&)
    {
        m_received[socket] = 0;
        socket->SetRecvCallback(MakeCallback(&WebServer::Read, this));
    }

    void Read(Ptr<Socket> socket)
    {
        Ptr<Packet> packet;
        auto entry = m_received.find(socket);
        while ((packet = socket->Recv()))
        {
            if (entry != m_received.end())
            {
                entry->second += packet->GetSize();
            }
        }
        if (entry != m_received.end() && entry->second >= kRequestBytes)
        {
            m_received.erase(entry);
            socket->Send(Create<Packet>(kResponseBytes));
            socket->Close(); // the FIN follows the data
        }
    }

    Ptr<Socket> m_listen;
    std::map<Ptr<Socket>, uint32_t> m_received;
};

// One request of a client: its socket, when it started, what has arrived.
struct Request
{
    Ptr<Socket> socket;
    Time start;
    uint32_t received = 0;
    bool done = false;
    EventId timeout;
};

// A client group: a Poisson process of requests to one server, taken by its clients in turn.
class ClientGroup
{
  public:
    ClientGroup(std::vector<Ptr<Node>> clients, Ipv4Address server, double rate,
                uint64_t requests)
        : m_clients(std::move(clients)),
          m_server(server),
          m_requests(requests)
    {
        m_gap = CreateObject<ExponentialRandomVariable>();
        m_gap->SetAttribute("Mean", DoubleValue(1.0 / rate));
    }

    void Start()
    {
        Simulator::Schedule(Seconds(m_gap->GetValue()), &ClientGroup::Arrive, this);
    }

  private:
    void Arrive()
    {
        Ptr<Node> node = m_clients[m_issued % m_clients.size()];
        m_issued++;
        Issue(node);
        if (m_issued < m_requests)
        {
            Simulator::Schedule(Seconds(m_gap->GetValue()), &ClientGroup::Arrive, this);
        }
    }

    void Issue(Ptr<Node> node)
    {
        auto* request = new Request;
        request->socket = Socket::CreateSocket(node, TcpSocketFactory::GetTypeId());
        request->start = Simulator::Now();
        m_open[PeekPointer(request->socket)] = request;
        request->socket->Bind();
        request->socket->SetConnectCallback(MakeCallback(&ClientGroup::Connected, this),
                                            MakeCallback(&ClientGroup::Refused, this));
        request->socket->SetRecvCallback(MakeCallback(&ClientGroup::Read, this));
        request->socket->Connect(InetSocketAddress(m_server, kPort));
        request->timeout = Simulator::Schedule(kTimeout, &ClientGroup::Expire, this, request);
    }

    Request* Find(Ptr<Socket> socket)
    {
        auto entry = m_open.find(PeekPointer(socket));
        return entry == m_open.end() ? nullptr : entry->second;
    }

    void Connected(Ptr<Socket> socket)
    {
        socket->Send(Create<Packet>(kRequestBytes));
    }

    void Refused(Ptr<Socket> socket)
    {
        if (Request* request = Find(socket))
        {
            Finish(request, false);
        }
    }

    void Read(Ptr<Socket> socket)
    {
        Request* request = Find(socket);
        Ptr<Packet> packet;
        while ((packet = socket->Recv()))
        {
            if (request)
            {
                request->received += packet->GetSize();
            }
        }
        if (request && request->received >= kResponseBytes)
        {
            Finish(request, true);
        }
    }

    void Expire(Request* request)
    {
        Finish(request, false);
    }

    // Counts the request and closes its socket (the server has closed already when it is ok).
    void Finish(Request* request, bool ok)
    {
        if (ok)
        {
            g_totals.ok++;
            g_totals.latencySumMs += (Simulator::Now() - request->start).GetSeconds() * 1000.0;
            request->timeout.Cancel();
            request->socket->Close();
        }
        else
        {
            g_totals.failed++;
            request->socket->Close();
        }
        m_open.erase(PeekPointer(request->socket));
        delete request;
    }

    std::vector<Ptr<Node>> m_clients;
    Ipv4Address m_server;
    uint64_t m_requests;
    uint64_t m_issued = 0;
    Ptr<ExponentialRandomVariable> m_gap;
    std::map<Socket*, Request*> m_open;
};

// A point-to-point link between `a` and the router, in its own /30, with this delay.
Ipv4InterfaceContainer
Link(Ptr<Node> a, Ptr<Node> router, const char* delay, Ipv4AddressHelper& addresses)
{
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue("1Gbps"));
    p2p.SetChannelAttribute("Delay", StringValue(delay));
    NetDeviceContainer devices = p2p.Install(a, router);
    Ipv4InterfaceContainer interfaces = addresses.Assign(devices);
    addresses.NewNetwork();
    return interfaces;
}

} // namespace

int
main(int argc, char* argv[])
{
    uint64_t requests = 10000;
    double msl = 5.0;
    uint32_t seed = 1;
    CommandLine cmd;
    cmd.AddValue("requests", "requests in all (a quarter per client group)", requests);
    cmd.AddValue("msl", "TcpSocketBase::MaxSegLifetime in seconds (TIME-WAIT is twice it)", msl);
    cmd.AddValue("seed", "random seed", seed);
    cmd.Parse(argc, argv);

    RngSeedManager::SetSeed(seed);
    Config::SetDefault("ns3::TcpSocketBase::MaxSegLifetime", DoubleValue(msl));
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1448));

    Ptr<Node> router = CreateObject<Node>();
    NodeContainer clients(10);
    NodeContainer servers(4);
    InternetStackHelper stack;
    stack.Install(router);
    stack.Install(clients);
    stack.Install(servers);

    Ipv4AddressHelper addresses("10.0.0.0", "255.255.255.252");
    std::vector<Ipv4Address> serverAddresses;
    for (uint32_t i = 0; i < servers.GetN(); i++)
    {
        serverAddresses.push_back(Link(servers.Get(i), router, "100us", addresses).GetAddress(0));
        Ptr<WebServer> app = CreateObject<WebServer>();
        servers.Get(i)->AddApplication(app);
        app->SetStartTime(Seconds(0));
    }
    for (uint32_t i = 0; i < clients.GetN(); i++)
    {
        Link(clients.Get(i), router, "1ms", addresses);
    }
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    // Groups of 3, 3, 2 and 2 clients, one server each, a quarter of the requests each.
    const uint32_t sizes[4] = {3, 3, 2, 2};
    std::vector<ClientGroup*> groups;
    uint32_t first = 0;
    for (uint32_t g = 0; g < 4; g++)
    {
        std::vector<Ptr<Node>> members;
        for (uint32_t k = 0; k < sizes[g]; k++)
        {
            members.push_back(clients.Get(first + k));
        }
        first += sizes[g];
        groups.push_back(new ClientGroup(members, serverAddresses[g], 250.0, requests / 4));
        groups.back()->Start();
    }

    Simulator::Stop(Seconds(requests / 1000.0 + 10.0));
    Simulator::Run();
    Simulator::Destroy();

    uint64_t done = g_totals.ok + g_totals.failed;
    std::printf("requests %llu ok %llu failed %llu mean_latency_ms %.3f\n",
                static_cast<unsigned long long>(done),
                static_cast<unsigned long long>(g_totals.ok),
                static_cast<unsigned long long>(g_totals.failed),
                g_totals.ok ? g_totals.latencySumMs / g_totals.ok : 0.0);
    for (ClientGroup* group : groups)
    {
        delete group;
    }
    return 0;
}
