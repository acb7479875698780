#include "tether/system/kernel_view.h"

#include <algorithm>

namespace tetherd {

namespace {

bool sameAddr(const AddrInfo& a, const AddrInfo& b) { return a.index == b.index && a.prefix == b.prefix; }
bool sameRoute(const DefaultRoute& a, const DefaultRoute& b) {
  return a.index == b.index && a.gateway == b.gateway && a.metric == b.metric && a.table == b.table;
}

}  // namespace

void KernelView::replace(const std::vector<LinkInfo>& l, std::vector<AddrInfo> a, std::vector<DefaultRoute> r) {
  links.clear();
  for (const auto& li : l) links[li.index] = li;
  addrs = std::move(a);
  routes = std::move(r);
}

void KernelView::apply(NetEvent& e) {
  switch (e.type) {
    case NetEvent::Type::LinkAdded:
    case NetEvent::Type::LinkChanged: {
      auto it = links.find(e.link.index);
      if (it != links.end() && e.type == NetEvent::Type::LinkChanged && e.before.index == 0) e.before = it->second;
      links[e.link.index] = e.link;
      return;
    }
    case NetEvent::Type::LinkRemoved: {
      int index = e.link.index;
      if (index == 0)
        if (const auto* l = link(e.link.name)) index = l->index;
      links.erase(index);
      std::erase_if(addrs, [&](const AddrInfo& a) { return a.index == index; });
      std::erase_if(routes, [&](const DefaultRoute& r) { return r.index == index; });
      std::erase_if(addrs6, [&](const Addr6Info& a) { return a.index == index; });
      std::erase_if(routes6, [&](const DefaultRoute6& r) { return r.index == index; });
      return;
    }
    case NetEvent::Type::AddrAdded:
      if (std::none_of(addrs.begin(), addrs.end(), [&](const AddrInfo& a) { return sameAddr(a, e.addr); }))
        addrs.push_back(e.addr);
      return;
    case NetEvent::Type::AddrRemoved:
      std::erase_if(addrs, [&](const AddrInfo& a) { return sameAddr(a, e.addr); });
      return;
    case NetEvent::Type::RouteAdded:
      if (std::none_of(routes.begin(), routes.end(), [&](const DefaultRoute& r) { return sameRoute(r, e.route); }))
        routes.push_back(e.route);
      return;
    case NetEvent::Type::RouteRemoved:
      std::erase_if(routes, [&](const DefaultRoute& r) { return sameRoute(r, e.route); });
      return;
    case NetEvent::Type::Routes6Changed:  // the monitor has updated routes6 itself
    case NetEvent::Type::Addrs6Changed:  // the monitor has updated addrs6 itself
    case NetEvent::Type::Resync: return;
  }
}

const LinkInfo* KernelView::link(std::string_view name) const {
  for (const auto& [i, l] : links)
    if (l.name == name) return &l;
  return nullptr;
}

bool KernelView::up(std::string_view name) const {
  const auto* l = link(name);
  return l && l->adminUp && l->lowerUp;
}

bool KernelView::hasDefaultRoute(std::string_view name) const {
  const auto* l = link(name);
  if (!l) return false;
  return std::any_of(routes.begin(), routes.end(), [&](const DefaultRoute& r) { return r.index == l->index; });
}

std::vector<AddrInfo> KernelView::addressesOf(std::string_view name) const {
  std::vector<AddrInfo> out;
  const auto* l = link(name);
  if (!l) return out;
  for (const auto& a : addrs)
    if (a.index == l->index) {
      out.push_back(a);
      out.back().ifname = l->name;
    }
  return out;
}

std::vector<std::string> KernelView::names() const {
  std::vector<std::string> out;
  for (const auto& [i, l] : links) out.push_back(l.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Addr6Info> KernelView::addresses6Of(std::string_view name) const {
  std::vector<Addr6Info> out;
  const LinkInfo* l = link(name);
  if (!l) return out;
  for (const auto& a : addrs6)
    if (a.index == l->index) out.push_back(a);
  return out;
}

bool KernelView::hasDefaultRoute6(std::string_view name) const {
  const LinkInfo* l = link(name);
  return l && std::any_of(routes6.begin(), routes6.end(), [&](const DefaultRoute6& r) { return r.index == l->index; });
}

}  // namespace tetherd
