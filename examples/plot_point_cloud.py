"""
=================================
A point cloud and the karate club
=================================

Two graphs without any grid. The first is built from a point cloud: three noisy
clusters of 2-D points whose values differ by cluster, joined to their nearest
neighbours. The second is a social network: Zachary's karate club, bundled with
networkx, with a noisy "which club" signal on its members. In both, ISVS flattens
each group to one value while keeping the jumps between groups.
"""

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np

import isvs_graph

rng = np.random.default_rng(0)


# %%
# Choosing the time
# =================
#
# Both signals here are synthetic, so we know the truth and can pick the time ``t``
# whose result is closest to it. On real data there is no truth; the sparsity (or
# ``t``) is then chosen by eye or by the task (see the parameter example).


def closest_to_truth(graph, signal, truth, times):
    """The smoothed signal at the time in ``times`` with the smallest mean
    absolute error against ``truth``, that time, and the error."""
    results = {t: np.asarray(isvs_graph.solve(graph, signal, t)).reshape(truth.shape)
               for t in times}
    error = {t: float(np.abs(u - truth).mean()) for t, u in results.items()}
    t = min(error, key=error.get)
    return results[t], t, error[t]


# %%
# A point cloud
# =============
#
# 300 points around each of three centres, with values 0, 1 and 2 plus noise.
# :func:`isvs_graph.knn_graph <isvs_graph.graphs.knn_graph>` joins every point to
# its 8 nearest neighbours (and to every point that counts it among its own 8).

centres = np.array([[0.0, 0.0], [3.0, 0.5], [1.5, 2.5]])
points = np.concatenate([c + 0.6 * rng.standard_normal((300, 2)) for c in centres])
truth = np.repeat([0.0, 1.0, 2.0], 300)
values = truth + 0.4 * rng.standard_normal(len(points))
cloud = isvs_graph.knn_graph(points, k=8)
cloud_smooth, cloud_t, cloud_error = closest_to_truth(cloud, values, truth,
                                                      np.arange(4, 129, 4))
print(f"point cloud: mean |error| {np.abs(values - truth).mean():.3f} noisy, "
      f"{cloud_error:.3f} after ISVS at t = {cloud_t}")

# %%
# Each cluster comes out as (nearly) one flat value. The kNN graph does join
# clusters where they touch, but the few edges across have large differences and
# enter the support early, so the clusters split apart long before the noise
# inside them does.

fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True,
                         layout="constrained")
for ax, title, colour in [(axes[0], "noisy values", values),
                          (axes[1], f"ISVS, t = {cloud_t}", cloud_smooth)]:
    dots = ax.scatter(*points.T, c=colour, s=10, cmap="viridis", vmin=-0.5, vmax=2.5)
    ax.set_title(title)
    ax.set_aspect("equal")
fig.colorbar(dots, ax=axes, shrink=0.8, label="value")

# %%
# The karate club
# ===============
#
# The club split in two after a dispute between the instructor (Mr. Hi) and the
# officer. The signal is 1 for members who followed Mr. Hi and 0 for the others,
# plus noise. :func:`isvs_graph.from_networkx <isvs_graph.graphs.from_networkx>`
# converts the friendship graph (unweighted here) and stores the signal as
# ``graph.x``, so ``solve`` needs no signal argument.

club = nx.karate_club_graph()
membership = np.array([float(club.nodes[v]["club"] == "Mr. Hi") for v in club])
noisy = membership + 0.35 * rng.standard_normal(len(membership))
karate = isvs_graph.from_networkx(club, weight=None, signal=noisy)
karate_smooth, karate_t, karate_error = closest_to_truth(karate, None, membership,
                                                         np.arange(2, 65, 2))
print(f"karate club: mean |error| {np.abs(noisy - membership).mean():.3f} noisy, "
      f"{karate_error:.3f} after ISVS at t = {karate_t}")

# %%
# Along the friendship edges the two factions separate: the smoothed signal is
# nearly constant within each and jumps between them. The members with friends in
# both camps are the last to be decided and stay in between.

layout = nx.spring_layout(club, seed=0)
fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
for ax, title, colour in [(axes[0], "noisy membership", noisy),
                          (axes[1], f"ISVS, t = {karate_t}", karate_smooth)]:
    nx.draw_networkx(club, layout, ax=ax, node_color=colour, cmap="coolwarm",
                     vmin=-0.3, vmax=1.3, node_size=120, with_labels=False, width=0.5)
    ax.set_title(title)
    ax.set_axis_off()

plt.show()
